"""Documents -> Protocol (pages, sections, criteria, lab rules); patient files -> LabObservations."""
