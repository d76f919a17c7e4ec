"""One typed service per context: its use cases with their dependencies bound, and its access
checks. The composition root (``dealercrm.bootstrap``) builds each from explicit ports."""
