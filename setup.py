"""Package layout that pyproject.toml alone cannot say.

web/ lives at the top of the repository (the layout of DESIGN.md section 4) but must ship
inside the wheel, as survey_node/web, so that a plain non-editable `pip install .` serves
every template and static file. find_packages() cannot see a mapped directory, so it is
added here by hand.
"""

from setuptools import find_packages, setup

packages = find_packages(include=["survey_node", "survey_node.*"]) + ["survey_node.web"]

setup(
    packages=packages,
    package_dir={"survey_node.web": "web"},
    package_data={
        "survey_node": ["translations/*/LC_MESSAGES/*.po", "translations/*/LC_MESSAGES/*.mo",
                        "devices/data/*"],
        "survey_node.web": ["templates/**/*", "static/**/*"],
    },
    include_package_data=False,
)
