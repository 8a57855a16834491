"""Business rules and queries; route handlers and the CLI both call these."""
