"""Administration: the township registry, invitations, people and assignments."""
