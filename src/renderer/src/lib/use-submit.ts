import { ref, type Ref } from 'vue'
import { errorMessage } from './errors'

/**
 * The busy/error state of a dialog's main action: the dialog disables itself while the action
 * runs and shows core's message verbatim when it fails.
 */
export function useSubmit(): { busy: Ref<boolean>; error: Ref<string | null>; run: (action: () => Promise<void>) => Promise<void> } {
  const busy = ref(false)
  const error = ref<string | null>(null)
  async function run(action: () => Promise<void>): Promise<void> {
    busy.value = true
    error.value = null
    try {
      await action()
    } catch (err) {
      error.value = errorMessage(err)
    } finally {
      busy.value = false
    }
  }
  return { busy, error, run }
}
