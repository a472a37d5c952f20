"""Parts of the Content Server REST client (`ecmpush.adapters.ecm.client`): configuration, errors,
value objects, response parsing, the retrying transport and ticket handling, one concept a file."""
