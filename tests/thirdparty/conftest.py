"""Software nobody here wrote, run by bench/conformance.py in virtualenvs of its own.

langchain_cohere/ is a copy of langchain-cohere's own tests (they import langchain_cohere,
which this project's environments do not have), frameworks/ a project of ours that drives
haystack and llama-index, litellm_driver.py a script run inside the conformance virtualenv,
and network_guard.py what they load to refuse the network: none is collected by this
project's test run.
tests/test_thirdparty.py runs them (slow).
"""

collect_ignore = ["langchain_cohere", "frameworks", "litellm_driver.py", "network_guard.py"]
