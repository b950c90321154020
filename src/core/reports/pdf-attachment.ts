
export interface PdfAttachment {
  name: string
  bytes: Uint8Array
  mimeType: string
  description: string
}

/**
 * Embeds files in a printed PDF (the catalog's /Names /EmbeddedFiles and /AF, relationship
 * Supplement). pdf-lib rewrites the file but keeps the catalog's other entries, so Chromium's
 * outline, structure tree and metadata survive; the Info dictionary is left as Chromium wrote it.
 */
export async function attachFile(pdf: Uint8Array, files: PdfAttachment[]): Promise<Uint8Array> {
  const { AFRelationship, PDFDocument } = await import('pdf-lib')
  const doc = await PDFDocument.load(pdf, { updateMetadata: false })
  // One fixed date so the same report content gives the same attachment object.
  const date = doc.getModificationDate() ?? doc.getCreationDate() ?? new Date(0)
  for (const f of files)
    await doc.attach(f.bytes, f.name, {
      mimeType: f.mimeType,
      description: f.description,
      creationDate: date,
      modificationDate: date,
      afRelationship: AFRelationship.Supplement
    })
  return doc.save({ updateFieldAppearances: false })
}
