"""Knowledge pipeline: events from headlines, entity linking, local Wikidata graph, KG embeddings."""
