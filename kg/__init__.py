"""Knowledge pipeline: headline events, entity linking, local Wikidata graph, embeddings."""
