"""What every chat platform shares of its commands: reading a command's text into its options."""
