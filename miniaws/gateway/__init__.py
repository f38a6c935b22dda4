"""The one AWS API front door: routing a request to its service, decoding, dispatching and encoding."""
