"""weather_desk: the small app the load tests start with ``faultkit load --app``."""
