"""The Qdrant store, embeddings, protocol indexing, hybrid search and the CRA question parser."""
