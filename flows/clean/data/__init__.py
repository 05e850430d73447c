"""Word lists used by infoshos.flows.clean.repair (names, acronyms, domain vocabulary)."""
