"""infoshos.warehouse."""
