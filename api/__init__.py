"""HTTP service of tandai."""
