"""What an operator sees: the status socket server, its client, metrics and the start-up timeline."""
