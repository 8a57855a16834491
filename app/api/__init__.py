"""HTTP routers and their request dependencies."""
