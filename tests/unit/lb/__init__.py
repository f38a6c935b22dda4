"""Load balancer units: rule matching, target choice, ALB responses and events (no sockets)."""
