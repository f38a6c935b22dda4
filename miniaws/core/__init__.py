"""AWS-generic building blocks with no knowledge of any one service."""
