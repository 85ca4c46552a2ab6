"""One module per `trialguard` subcommand, each with register(app)."""
