"""The clean stage: raw pages to articles (decode, site rules, repair, dates, language)."""
