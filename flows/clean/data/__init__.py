"""Word lists used by infoshos.flows.clean.lexicon (names, acronyms, domain vocabulary)."""
