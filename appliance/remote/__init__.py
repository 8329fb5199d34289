"""Remote monitoring and control on the home network: MQTT for Home Assistant, the REST API."""
