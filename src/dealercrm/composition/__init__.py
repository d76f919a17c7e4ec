"""Composition helpers of ``dealercrm.bootstrap`` (the composition root): the container type."""
