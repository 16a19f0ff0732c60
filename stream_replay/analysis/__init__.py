"""What a stream says: the final response (``assemble``), Cohere's stream grammar
(``grammar``), assertions on both, and structural drift between two answers (``drift``).
Reads SDK events, plain dicts or a cassette's wire events; never talks to the network.
(PYTEST_DONT_REWRITE)"""
