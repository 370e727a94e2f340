"""The engines behind the commands: import, build, status and diff. They return data; the
CLI prints it."""
