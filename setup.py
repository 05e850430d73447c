"""Map the top-level code folders under the ``infoshos`` namespace.

``spiders/`` installs as ``infoshos.spiders``, ``flows/`` as ``infoshos.flows`` and ``warehouse/``
as ``infoshos.warehouse``, so that they never clash with other distributions' top-level packages.
Everything else is declared in ``pyproject.toml``.
"""

from setuptools import find_packages, setup

FOLDERS = ("spiders", "flows", "warehouse")
DATA = ["*.yaml", "*.json", "*.html", "*.xml", "*.txt", "*.css", "*.pdf", "*.md", "*.csv"]

packages: list[str] = []
package_dir: dict[str, str] = {}
for folder in FOLDERS:
    for sub in [""] + find_packages(folder):
        name = "infoshos." + folder + ("." + sub if sub else "")
        packages.append(name)
        package_dir[name] = folder + ("/" + sub.replace(".", "/") if sub else "")

setup(
    packages=packages,
    package_dir=package_dir,
    package_data={name: DATA for name in packages},
)
