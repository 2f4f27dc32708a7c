# Extractors (src/rag/extract): each parser of untrusted document bytes, OCR off,
# small limits; every result must keep the Extracted invariants.
basalt_fuzz(pdf_extract_fuzz basalt_rag_extract)
basalt_fuzz(html_extract_fuzz basalt_rag_extract)
basalt_fuzz(docx_extract_fuzz basalt_rag_extract)
basalt_fuzz(markdown_extract_fuzz basalt_rag_extract)
