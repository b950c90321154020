// FMA throughput probe: each thread runs 12 independent AVX2 FMA chains in registers (enough to
// cover FMA latency x 2 ports on Zen/Intel), so the result is the core's practical fp32 peak.
// Build: cc -O2 -mavx2 -mfma -pthread fma-peak.c -o fma-peak; run: fma-peak THREADS SECONDS
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static long iters = 0;
static volatile float sink;

static void *work(void *arg) {
  (void)arg;
  __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  // Distinct start values: identical chains would be merged by the compiler.
  __m256 c0 = _mm256_set1_ps(1.00f), c1 = _mm256_set1_ps(1.01f), c2 = _mm256_set1_ps(1.02f), c3 = _mm256_set1_ps(1.03f);
  __m256 c4 = _mm256_set1_ps(1.04f), c5 = _mm256_set1_ps(1.05f), c6 = _mm256_set1_ps(1.06f), c7 = _mm256_set1_ps(1.07f);
  __m256 c8 = _mm256_set1_ps(1.08f), c9 = _mm256_set1_ps(1.09f), c10 = _mm256_set1_ps(1.10f), c11 = _mm256_set1_ps(1.11f);
  for (long i = 0; i < iters; i++) {
    c0 = _mm256_fmadd_ps(c0, a, b); c1 = _mm256_fmadd_ps(c1, a, b); c2 = _mm256_fmadd_ps(c2, a, b);
    c3 = _mm256_fmadd_ps(c3, a, b); c4 = _mm256_fmadd_ps(c4, a, b); c5 = _mm256_fmadd_ps(c5, a, b);
    c6 = _mm256_fmadd_ps(c6, a, b); c7 = _mm256_fmadd_ps(c7, a, b); c8 = _mm256_fmadd_ps(c8, a, b);
    c9 = _mm256_fmadd_ps(c9, a, b); c10 = _mm256_fmadd_ps(c10, a, b); c11 = _mm256_fmadd_ps(c11, a, b);
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)), _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7)));
  s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(c10, c11)));
  float out[8];
  _mm256_storeu_ps(out, s);
  sink = out[0];
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  double seconds = argc > 2 ? atof(argv[2]) : 0.5;
  pthread_t tid[64];
  // Calibrate the iteration count on one thread, then time all threads together (best of 5).
  iters = 1000000;
  double t0 = now(); work(NULL); double dt = now() - t0;
  iters = (long)(iters * (seconds / 5) / dt);
  double best = 0;
  for (int rep = 0; rep < 5; rep++) {
    t0 = now();
    for (int t = 0; t < threads; t++) pthread_create(&tid[t], NULL, work, NULL);
    for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
    dt = now() - t0;
    double gflops = (double)iters * 12 * 8 * 2 * threads / dt / 1e9;
    if (gflops > best) best = gflops;
  }
  printf("%.1f\n", best);
  return 0;
}
