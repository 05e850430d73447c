"""infoshos.flows."""
