# Bedrock retrieval filters from untrusted JSON (src/rag/filter).
basalt_fuzz(retrieval_filter_fuzz basalt_rag_filter)
