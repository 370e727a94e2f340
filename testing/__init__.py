"""Shared builders for the tests: real git repositories, made hermetically."""
