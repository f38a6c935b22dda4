"""Elastic Load Balancing v2: application load balancers, listeners, rules and target groups (control plane)."""
