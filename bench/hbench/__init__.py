"""Hermod's benchmark harness: Hermod against Postfix + Dovecot on the same machine."""
