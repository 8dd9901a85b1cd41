"""The service catalog and the teams that own services."""
