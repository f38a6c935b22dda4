"""Servers that carry traffic (DNS, and later the edge cache and the load balancer) and the health checker
they share. They read the control-plane models; they never go through the AWS API."""
