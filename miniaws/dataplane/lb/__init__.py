"""The load balancers' data plane: listener sockets, rules, target choice, proxying and lambda targets."""
