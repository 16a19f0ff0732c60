"""Software nobody here wrote, run by bench/conformance.py in virtualenvs of its own.

langchain_cohere/ is a copy of langchain-cohere's own tests (they import langchain_cohere,
which this project's environments do not have), and litellm_driver.py a script run inside
the conformance virtualenv: neither is collected by this project's test run.
tests/test_thirdparty.py runs them (slow).
"""

collect_ignore = ["langchain_cohere", "litellm_driver.py"]
