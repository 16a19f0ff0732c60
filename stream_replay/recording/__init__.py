"""Recording: live Cohere streams captured event by event into cassettes."""
