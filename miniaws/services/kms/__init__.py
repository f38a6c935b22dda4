"""KMS: keys, aliases, envelope encryption, signing, MACs, rotation, policies and grants (TrentService json-1.1)."""
