# RAG index adapters: query text through FTS5 and the fake; HNSW index files
# with a valid checksum and an arbitrary payload.
basalt_fuzz(text_query_fuzz basalt_rag_index)
basalt_fuzz(vector_index_file_fuzz basalt_rag_index)
