"""lifevalue: customer lifetime value for online stores."""
