"""The built-in connection kinds: the Data Integration sources and targets.

Each entry transcribes Qlik's "Data integration project connector examples"
on qlik.dev: the data source id, the gateway the example uses, and the
values it sends, typed as it types them (ports and other numbers as JSON
strings, flags as booleans). Properties whose example value is a
placeholder for the user's own system are ``required`` inputs. Which
properties the service stores as secrets is not published, so ``secrets``
lists the credential-like ones by name.
"""

from __future__ import annotations

from qtc_connections.catalog.model import (
    PEM_KEY_FILE_NAME,
    SERVICE_ACCOUNT_FILE_NAME,
    FileProperty,
    GatewayRule,
    KeyFileType,
    Kind,
    Role,
)

__all__ = ["BUILTIN_KINDS"]

EXAMPLES_URL = (
    "https://qlik.dev/manage/data-connections/examples/data-connection-create-examples/"
)

_SERVICE_ACCOUNT_FILE = FileProperty(
    file_type=KeyFileType.SERVICE_ACCOUNT_JSON,
    default_file_name=SERVICE_ACCOUNT_FILE_NAME,
)

_ORACLE_SERVER_EXAMPLE = "//<HOST>:1521/<SERVICE_NAME>"

MYSQL_SOURCE = Kind(
    name="mysql-source",
    title="MySQL source",
    data_source_id="repsrc_mysql",
    role=Role.SOURCE,
    gateway=GatewayRule.DATA_MOVEMENT,
    defaults={
        "port": "3306",
        "replicateEndpointType": "mysql###None",
        "sshEnable": False,
        "sslMode": "PREFER",
        "eventsPollInterval": "5",
    },
    required=("server", "username"),
    secrets=("password",),
    reference=EXAMPLES_URL,
)

MYSQL_TARGET = Kind(
    name="mysql-target",
    title="MySQL target",
    data_source_id="reptgt_qdimysql",
    role=Role.TARGET,
    gateway=GatewayRule.DATA_MOVEMENT,
    defaults={
        "port": "3306",
        "replicateEndpointType": "mysqltarget###None",
        "targetDbType": "MULTIPLE_DATABASES",
        "maxFileSize": "32000",
        "parallelLoadThreads": "2",
    },
    required=("server", "username"),
    secrets=("password",),
    reference=EXAMPLES_URL,
)

SQLSERVER_SOURCE = Kind(
    name="sqlserver-source",
    title="SQL Server source (log based)",
    data_source_id="repsrc_mssql",
    role=Role.SOURCE,
    gateway=GatewayRule.DATA_MOVEMENT,
    defaults={
        "replicateEndpointType": "sqlServer###None",
        "useEncryptedConnection": False,
        "databaseManualInput": False,
        "safeguardPolicy": "RELY_ON_SQL_SERVER_REPLICATION_AGENT",
        "safeguardFrequency": "300",
        "TlogAccessMode": "PreferTlog",
        "useWindowsAuthentication": False,
        "use3rdPartyBackupDevice": False,
    },
    required=("server", "username", "database"),
    secrets=("password",),
    reference=EXAMPLES_URL,
)

SQLSERVER_TARGET = Kind(
    name="sqlserver-target",
    title="SQL Server target",
    data_source_id="reptgt_mssqltarget",
    role=Role.TARGET,
    gateway=GatewayRule.DATA_MOVEMENT,
    defaults={
        "replicateEndpointType": "sqlServer###None",
        "AuthenticationModes": "SQL_CREDENTIALS",
        "useEncryptedConnection": False,
        "useWindowsAuthentication": False,
        "suspendTableWithComputedColumn": True,
        "databaseManualInput": False,
    },
    required=("server", "username", "database"),
    secrets=("password",),
    reference=EXAMPLES_URL,
)

POSTGRESQL_SOURCE = Kind(
    name="postgresql-source",
    title="PostgreSQL source",
    data_source_id="repsrc_postgresql",
    role=Role.SOURCE,
    gateway=GatewayRule.DATA_MOVEMENT,
    defaults={
        "port": "5432",
        "replicateEndpointType": "postgresqlsource###None",
        "sslMode": "PREFER",
        "sslCompression": True,
        "captureDDLs": True,
        "heartbeatEnable": False,
        "ddlArtifactsSchema": "public",
    },
    required=("server", "username", "database"),
    secrets=("password",),
    reference=EXAMPLES_URL,
)

# The PostgreSQL target example names its address property "host", where
# every other database kind uses "server".
POSTGRESQL_TARGET = Kind(
    name="postgresql-target",
    title="PostgreSQL target",
    data_source_id="reptgt_qdipostgresql",
    role=Role.TARGET,
    gateway=GatewayRule.DATA_MOVEMENT,
    defaults={
        "port": "5432",
        "replicateEndpointType": "postgresql###None",
        "sslMode": "PREFER",
        "sslCompression": True,
        "maxFileSize": "32000",
    },
    required=("host", "username", "database"),
    secrets=("password",),
    reference=EXAMPLES_URL,
)

ORACLE_SOURCE = Kind(
    name="oracle-source",
    title="Oracle source",
    data_source_id="repsrc_oracle",
    role=Role.SOURCE,
    gateway=GatewayRule.DATA_MOVEMENT,
    defaults={
        "numberDatatypeScale": "10",
        "allowSelectNestedTables": False,
        "replicateInvisibleColumns": False,
        "retryInterval": "5",
        "archivedLogDestId": "0",
        "additionalArchivedLogDestId": "0",
        "archivedLogsOnly": False,
        "useLogminerReader": False,
        "parallelASMReadThreads": "1",
    },
    required=("server", "username"),
    secrets=("password",),
    reference=EXAMPLES_URL,
    examples={"server": _ORACLE_SERVER_EXAMPLE},
)

ORACLE_TARGET = Kind(
    name="oracle-target",
    title="Oracle target",
    data_source_id="reptgt_qdioracle",
    role=Role.TARGET,
    gateway=GatewayRule.DATA_MOVEMENT,
    required=("server", "username"),
    secrets=("password",),
    reference=EXAMPLES_URL,
    examples={"server": _ORACLE_SERVER_EXAMPLE},
)

# The Snowflake, Databricks and BigQuery examples send no agentId at all.
SNOWFLAKE_TARGET = Kind(
    name="snowflake-target",
    title="Snowflake target (key pair)",
    data_source_id="reptgt_qdisnowflake",
    role=Role.TARGET,
    gateway=GatewayRule.NONE,
    defaults={
        "port": "443",
        "databaseManualInput": True,
        "authentication_mode": "KEY_PAIR",
    },
    required=("server", "warehouse", "username", "databaseQcsString"),
    secrets=("privateKeyPassphrase",),
    files={
        "privateKeyFile": FileProperty(
            file_type=KeyFileType.PEM_PRIVATE_KEY,
            default_file_name=PEM_KEY_FILE_NAME,
            passphrase_property="privateKeyPassphrase",
        ),
    },
    reference=EXAMPLES_URL,
    examples={
        "server": "<account>.snowflakecomputing.com",
        "databaseQcsString": "<DB>",
    },
)

# The personal access token travels in the "password" property.
DATABRICKS_TARGET = Kind(
    name="databricks-target",
    title="Databricks target (personal access token)",
    data_source_id="reptgt_qdidatabricks",
    role=Role.TARGET,
    gateway=GatewayRule.NONE,
    defaults={
        "port": "443",
        "authenticationMode": "PERSONAL_ACCESS_TOKEN",
    },
    required=("server", "httpPath"),
    secrets=("password",),
    reference=EXAMPLES_URL,
    examples={
        "server": "adb-<workspace>.azuredatabricks.net",
        "httpPath": "/sql/1.0/warehouses/<id>",
    },
)

BIGQUERY_TARGET = Kind(
    name="bigquery-target",
    title="Google BigQuery target",
    data_source_id="reptgt_qdibigquery",
    role=Role.TARGET,
    gateway=GatewayRule.NONE,
    required=("datasetLocation",),
    files={"jsonCredentials": _SERVICE_ACCOUNT_FILE},
    reference=EXAMPLES_URL,
    examples={"datasetLocation": "ASIA_SOUTHEAST1"},
)

ADLS_TARGET = Kind(
    name="adls-target",
    title="Azure Data Lake Storage Gen2 target",
    data_source_id="reptgt_qdiadls",
    role=Role.TARGET,
    gateway=GatewayRule.QLIK_MANAGED,
    defaults={"adlsLoginUrl": "https://login.microsoftonline.com/"},
    required=(
        "storageAccount",
        "fileSystem",
        "adlstenantid",
        "adlsclientappid",
    ),
    secrets=("adlsclientappkey",),
    reference=EXAMPLES_URL,
)

# NOTE: the Data Integration examples show only s3SecretKey. s3AccessKey is
# treated as a secret too, because Qlik's analytics S3 example stores both
# keys in the credential and never returns either.
S3_TARGET = Kind(
    name="s3-target",
    title="Amazon S3 target",
    data_source_id="reptgt_qdis3",
    role=Role.TARGET,
    gateway=GatewayRule.QLIK_MANAGED,
    defaults={"useAwsPrivateLink": False},
    required=("bucketName",),
    secrets=("s3AccessKey", "s3SecretKey"),
    reference=EXAMPLES_URL,
)

GCS_TARGET = Kind(
    name="gcs-target",
    title="Google Cloud Storage target",
    data_source_id="reptgt_qdigooglecloudstorage",
    role=Role.TARGET,
    gateway=GatewayRule.QLIK_MANAGED,
    required=("bucketName",),
    files={"jsonCredentials": _SERVICE_ACCOUNT_FILE},
    reference=EXAMPLES_URL,
)

BUILTIN_KINDS: tuple[Kind, ...] = (
    MYSQL_SOURCE,
    MYSQL_TARGET,
    SQLSERVER_SOURCE,
    SQLSERVER_TARGET,
    POSTGRESQL_SOURCE,
    POSTGRESQL_TARGET,
    ORACLE_SOURCE,
    ORACLE_TARGET,
    SNOWFLAKE_TARGET,
    DATABRICKS_TARGET,
    BIGQUERY_TARGET,
    ADLS_TARGET,
    S3_TARGET,
    GCS_TARGET,
)
