# Chunking (src/rag/chunk): every strategy's contract over fuzzer-chosen documents.
basalt_fuzz(chunk_fuzz basalt_rag_chunk)
