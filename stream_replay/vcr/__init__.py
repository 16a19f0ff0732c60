"""vcrpy interoperability: reading vcrpy cassettes (``importer``), writing them
(``exporter``), and a vcrpy serializer that stores streams one event per line
(``serializer``). (PYTEST_DONT_REWRITE)"""
