"""Recording: live Cohere streams captured event by event into cassettes. (PYTEST_DONT_REWRITE)"""
