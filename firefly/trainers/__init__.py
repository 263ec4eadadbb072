"""firefly's environment in the shapes trainers expect.

* :mod:`firefly.trainers.gym`: a gymnasium-style environment
  (``reset(seed, options) -> (obs, info)``, ``step(action) -> (obs, reward, terminated,
  truncated, info)``).

Many episodes at once, keyed by instance id and async, are on
:class:`firefly.env.FireflyEnv` itself (``acreate`` / ``astep`` / ``areward`` / ``arelease``).
"""
