"""infoshos.spiders."""
