"""The DNS server: an authoritative, sans-IO resolver over the Route 53 hosted zones (resolver.py) with its
routing policies (policies.py) and client locations (locations.py), behind UDP and TCP listeners (server.py)."""
