"""The avatar area: a single key below the instance prefix."""

from cozy.storage.areas import Area

AVATAR = Area("avatar", "avatar")
