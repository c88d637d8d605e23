"""Live monitoring of hazmat vehicles: each position ping against zones, the issued route,
the last passed check-in and the speed caps (pure: values in, state and alerts out)."""
